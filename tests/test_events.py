"""The event-camera digits (snnc.frontend.events): a DVS pixel model on saccades over the bundled
digits; deterministic, polarities and counts as the pixel model says, frames as documented."""
import numpy as np
import pytest

from snnc.frontend.events import EventCamera, bin_frames, digit_events, load_event_digits, saccade_path

QUIET = EventCamera(noise_per_step=0.0, contrast_mismatch=0.0)


def test_same_seed_same_events_other_seed_other_noise():
    images = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    a, b = digit_events(images, seed=5), digit_events(images, seed=5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, digit_events(images, seed=6))


def test_a_still_blank_scene_is_silent_but_for_the_noise():
    blank = np.zeros((4, 8, 8))
    assert digit_events(blank, QUIET).sum() == 0
    cam = EventCamera(noise_per_step=0.01, refractory_steps=0)
    events = digit_events(blank, cam, seed=1)
    rate = events.sum() / (cam.steps * 4 * cam.sensor ** 2)
    assert 0.008 < rate < 0.012  # the background rate asked for
    assert abs(int(events[:, :, 0].sum()) - int(events[:, :, 1].sum())) < 0.1 * events.sum()  # both polarities


def test_a_moving_edge_gives_on_ahead_and_off_behind():
    image = np.zeros((1, 8, 8))
    image[0, :, :4] = 1.0  # bright left half: sensor columns 2..13, rows 2..25 at rest
    events = digit_events(image, QUIET)[: QUIET.steps_per_saccade, 0].sum(axis=0)  # first saccade [2, S, S]
    # the sensor moves right (and down), so the scene moves left on it: the left edge brightens the
    # columns it enters (ON), the right edge darkens the columns it leaves (OFF); rows clear of the
    # top and bottom edges
    on, off = events[0, 6:20], events[1, 6:20]
    assert on[:, 0:3].sum() > 0 and off[:, 0:3].sum() == 0
    assert off[:, 11:14].sum() > 0 and on[:, 11:14].sum() == 0
    assert on[:, 4:10].sum() == 0 and off[:, 4:10].sum() == 0  # inside the bright area nothing changes


def test_events_count_the_thresholds_crossed():
    cam = EventCamera(noise_per_step=0.0, contrast_mismatch=0.0, refractory_steps=0, saccade_px=3.0,
                      steps_per_saccade=1)  # one step per saccade: whole-pixel jumps
    image = np.full((1, 8, 8), 1.0)
    events = digit_events(image, cam)
    jump = np.log(1 + cam.log_eps) - np.log(cam.log_eps)  # a pixel going from dark to bright
    assert events.max() == int(jump / cam.contrast)


def test_refractory_period_spaces_a_pixels_events():
    cam = EventCamera(noise_per_step=0.0, refractory_steps=10)
    events = digit_events(np.random.default_rng(2).random((2, 8, 8)), cam).any(axis=2)  # [steps, B, H, W]
    for start in range(len(events) - 10):
        assert events[start:start + 10].sum(axis=0).max() <= 1


def test_saccades_close_a_triangle():
    path = saccade_path(QUIET)
    assert len(path) == QUIET.steps + 1 and np.allclose(path[0], path[-1])


def test_frames_hold_any_event_of_their_steps():
    events = np.zeros((9, 1, 2, 2, 2), np.uint8)
    events[0, 0, 0, 0, 0] = 3
    events[8, 0, 1, 1, 1] = 1
    frames = bin_frames(events, 3)
    assert frames.shape == (3, 1, 2, 2, 2) and frames.dtype == np.uint8
    assert frames[0, 0, 0, 0, 0] == 1 and frames[2, 0, 1, 1, 1] == 1 and frames.sum() == 2
    with pytest.raises(ValueError):
        bin_frames(events, 10)


def test_the_data_set_is_split_like_the_digits_example_and_carries_the_digit():
    data = load_event_digits(timesteps=10)
    assert data.x_train.shape == (10, 1347, 2, 32, 32) and data.x_test.shape == (10, 450, 2, 32, 32)
    assert set(np.unique(data.x_train)) <= {0, 1} and 0.02 < data.x_train.mean() < 0.2
    # class means of the event counts tell the classes apart (a nearest-mean classifier)
    counts = lambda x: x.sum(axis=0).reshape(x.shape[1], -1).astype(np.float64)
    means = np.stack([counts(data.x_train)[data.y_train == c].mean(axis=0) for c in range(10)])
    guess = np.argmin(((counts(data.x_test)[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert np.mean(guess == data.y_test) > 0.8
