"""Comparison report of MLflow runs: a thin wrapper of `attrition compare`.

Usage: python scripts/generate_comparison_report.py --run-ids run1,run2 [--out PATH]
"""

from __future__ import annotations

import sys

from attrition.commands.review import review_app


def main(argv: list[str] | None = None) -> None:
    """Run `attrition compare` with this script's arguments."""
    args = sys.argv[1:] if argv is None else argv
    review_app(args=["compare", *args], prog_name="generate_comparison_report.py")


if __name__ == "__main__":
    main()
