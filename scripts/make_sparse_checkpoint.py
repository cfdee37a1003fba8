"""Write a real-size SPARSE checkpoint (exact header, zero data, almost no disk) from a manifest JSON.

Usage: python scripts/make_sparse_checkpoint.py MANIFEST.json OUT.safetensors [--rename OLD=NEW] [--drop KEY]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ltx_model.demo import write_sparse_checkpoint  # noqa: E402


def main() -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("manifest")
    parser.add_argument("out")
    parser.add_argument("--rename", action="append", default=[], help="OLD=NEW key rename (repeatable)")
    parser.add_argument("--drop", action="append", default=[], help="key to leave out (repeatable)")
    args = parser.parse_args()
    rename = dict(item.split("=", 1) for item in args.rename)
    size = write_sparse_checkpoint(args.manifest, args.out, rename=rename, drop=tuple(args.drop))
    print(f"wrote {args.out}: {size} bytes (sparse)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
