"""Event-camera digits: a neuromorphic data set made from scikit-learn's bundled digits the way
N-MNIST was made from MNIST (Orchard et al., 2015), with no download.

N-MNIST put each static MNIST image in front of an ATIS sensor that moved in three saccades (a
triangle of three straight moves, about 100 ms each) and recorded the pixels' brightness changes.
Here the 8x8 digit is scaled up (nearest neighbour, `scale`) into the middle of a `sensor` x
`sensor` array and moved the same way, at `steps_per_saccade` simulation steps per saccade, with
bilinear sampling in between pixels.  Each pixel is a DVS pixel (Lichtsteiner et al., 2008):

- it compares its log intensity log(I + `log_eps`) with a reference level; when the difference
  reaches its contrast threshold it emits one event per threshold crossed, ON (brighter) or OFF
  (darker), and moves the reference by as many thresholds;
- thresholds vary from pixel to pixel (`contrast` with a relative spread `contrast_mismatch`, fixed
  per pixel and seed), as in real sensors;
- after an event a pixel stays silent for `refractory_steps` steps (the crossing is kept and
  fires after);
- background activity: each pixel fires a random-polarity event with probability
  `noise_per_step` per step.

`digit_events` returns event counts per step [steps, B, 2, H, W] (polarity 0 = ON, 1 = OFF);
`bin_frames` turns them into T spike frames [T, B, 2, H, W] (uint8 0/1: a pixel and polarity
spikes in a frame if it had any event in the frame's steps).  Everything is deterministic from
the seed.  `load_event_digits` returns the stratified 75/25 split of the 1,797 digits (the same
split as the digits example) as frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EventCamera:
    """The sensor, the saccades and the pixel model (see the module's docstring)."""

    sensor: int = 32                 # pixels per side (N-MNIST: 34 for 28-pixel digits)
    scale: int = 3                   # 8x8 digits become 24x24
    saccade_px: float = 3.0          # length of each saccade's side, in pixels
    steps_per_saccade: int = 30      # simulation steps per saccade (N-MNIST: ~100 ms each)
    contrast: float = 0.25           # log-intensity change per event
    contrast_mismatch: float = 0.1   # relative spread of the threshold across pixels
    refractory_steps: int = 1        # steps a pixel is silent after an event
    noise_per_step: float = 2e-4     # background events per pixel per step
    log_eps: float = 0.1             # log(I + eps): the darkest pixels still have a level

    @property
    def steps(self) -> int:
        return 3 * self.steps_per_saccade


def saccade_path(cam: EventCamera) -> np.ndarray:
    """The sensor's offset (dy, dx) in pixels at every step, float [steps + 1, 2]: three straight
    moves around a triangle, back to the start."""
    a = cam.saccade_px
    corners = np.array([[0.0, 0.0], [a, a / 2], [0.0, a], [0.0, 0.0]])
    t = np.arange(cam.steps_per_saccade) / cam.steps_per_saccade
    path = [corners[i] + (corners[i + 1] - corners[i]) * t[:, None] for i in range(3)]
    return np.concatenate(path + [corners[-1:]])


def _place(images: np.ndarray, cam: EventCamera) -> np.ndarray:
    """Digits [B, 8, 8] in [0, 1] -> the scene [B, S, S] with the scaled digit in the middle and a
    margin for the saccades."""
    big = np.kron(images, np.ones((cam.scale, cam.scale), np.float32))
    size = big.shape[-1]
    if size + cam.saccade_px + 1 > cam.sensor:
        raise ValueError(f"a {size}-pixel digit moving {cam.saccade_px} pixels does not fit a {cam.sensor}-pixel sensor")
    scene = np.zeros((len(images), cam.sensor, cam.sensor), np.float32)
    o = int((cam.sensor - size - cam.saccade_px) // 2)
    scene[:, o:o + size, o:o + size] = big
    return scene


def _shifted(scene: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """The scene seen by a sensor moved by (dy, dx) pixels: bilinear sampling, zero outside."""
    iy, ix = int(np.floor(dy)), int(np.floor(dx))
    fy, fx = dy - iy, dx - ix
    pad = np.pad(scene, ((0, 0), (1, 2 + abs(iy)), (1, 2 + abs(ix))))
    s = scene.shape[-1]
    tap = lambda y, x: pad[:, 1 + iy + y: 1 + iy + y + s, 1 + ix + x: 1 + ix + x + s]
    return ((1 - fy) * (1 - fx) * tap(0, 0) + (1 - fy) * fx * tap(0, 1) + fy * (1 - fx) * tap(1, 0)
            + fy * fx * tap(1, 1))


def digit_events(images: np.ndarray, cam: EventCamera = EventCamera(), seed: int = 0) -> np.ndarray:
    """Digits [B, 8, 8] (intensity in [0, 1]) -> event counts uint8 [steps, B, 2, S, S]."""
    rng = np.random.default_rng(seed)
    images = np.asarray(images, np.float32).reshape(-1, 8, 8)
    scene = _place(images, cam)
    shape = scene.shape
    threshold = cam.contrast * (1 + cam.contrast_mismatch * rng.standard_normal(shape[1:])).clip(0.5, 1.5)
    threshold = threshold.astype(np.float32)
    path = saccade_path(cam)
    ref = np.log(_shifted(scene, *path[0]) + cam.log_eps)
    quiet = np.zeros(shape, np.int32)  # steps left in each pixel's refractory period
    out = np.zeros((cam.steps, len(images), 2, cam.sensor, cam.sensor), np.uint8)
    for step in range(cam.steps):
        level = np.log(_shifted(scene, *path[step + 1]) + cam.log_eps)
        crossings = np.trunc((level - ref) / threshold).astype(np.int32)  # signed thresholds crossed
        fire = (crossings != 0) & (quiet == 0)
        ref = np.where(fire, ref + crossings * threshold, ref)
        count = np.minimum(np.abs(crossings), 254).astype(np.uint8) * fire  # room for a noise event
        out[step, :, 0] = np.where(crossings > 0, count, 0)
        out[step, :, 1] = np.where(crossings < 0, count, 0)
        noise = rng.random(shape) < cam.noise_per_step
        polarity = rng.random(shape) < 0.5
        out[step, :, 0] += noise & polarity
        out[step, :, 1] += noise & ~polarity
        quiet = np.where(fire | noise, cam.refractory_steps, np.maximum(quiet - 1, 0))
    return out


def bin_frames(events: np.ndarray, timesteps: int) -> np.ndarray:
    """Event counts [steps, B, 2, H, W] -> spike frames uint8 [T, B, 2, H, W]: 1 where a frame's
    steps hold any event of that pixel and polarity (steps split as evenly as they go)."""
    edges = np.linspace(0, len(events), timesteps + 1).round().astype(int)
    if np.any(np.diff(edges) == 0):
        raise ValueError(f"{len(events)} steps cannot fill {timesteps} frames")
    return np.stack([events[a:b].any(axis=0) for a, b in zip(edges[:-1], edges[1:])]).astype(np.uint8)


@dataclass(frozen=True)
class EventDigits:
    """x_*: spike frames uint8 [T, N, 2, S, S]; y_*: labels int64 [N]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_event_digits(timesteps: int = 15, seed: int = 0, cam: EventCamera = EventCamera()) -> EventDigits:
    """The bundled digits as event-camera frames, split 75/25 stratified (the digits example's split)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32).reshape(-1, 8, 8)
    x_tr, x_te, y_tr, y_te = train_test_split(x, data.target, test_size=0.25, stratify=data.target, random_state=0)
    frames = lambda images, s: bin_frames(digit_events(images, cam, s), timesteps)
    return EventDigits(frames(x_tr, seed), y_tr.astype(np.int64), frames(x_te, seed + 1), y_te.astype(np.int64))
