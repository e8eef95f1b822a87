"""snnc.boards: the Artix-7 board registry and board builds (BoardCore on a board's pins)."""
from .board_top import PLATFORM_TOP, BoardTop, run_vivado, write_board_build
from .program import program, program_command
from .registry import BOARDS, PART_RESOURCES, Board, board_table, get_board

__all__ = ["BOARDS", "PART_RESOURCES", "PLATFORM_TOP", "Board", "BoardTop", "board_table", "get_board", "program",
           "program_command", "run_vivado", "write_board_build"]
