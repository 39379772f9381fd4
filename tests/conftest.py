import sys
from pathlib import Path

# tests/ helpers (store_fixtures.py, amiserver.py) import as plain modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))
