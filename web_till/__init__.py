"""The till: static ES modules served by the gateway (no build step)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent
