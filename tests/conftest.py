import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # test helpers (netgen) import as top-level modules
