"""Bytes per printed ticket, per printer profile and QR mode (python-escpos capabilities data).

.venv/bin/python bench/slip_size.py [--url URL] [--profile NAME ...]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from printer import TicketSlip, render
from printer.slip import target_for

PROFILES = ("TM-T88V", "TM-T20II", "TM-T88IV", "POS-5890", "ZJ-5870", "simple", "default")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default="https://loket.hoorn.nl/t/Xk3v9QpL2mN8rT4wZ6yB1cD5fG7hJ0aS"
    )
    parser.add_argument("--profile", action="append", help="profile(s); default: a common few")
    args = parser.parse_args()
    slip = TicketSlip(
        label="A012",
        product="Paspoort of ID-kaart",
        stop="Bibliotheek Hoorn, Wisselstraat 8",
        issued_at=datetime(2026, 6, 2, 10, 0, tzinfo=UTC),
        qr_url=args.url,
        header_lines=("Gemeente Hoorn",),
        people_ahead=3,
        footer_lines=("Scan de code om te zien wanneer u aan de beurt bent",),
    )
    print(f"QR payload: {len(args.url)} characters")
    print(f"{'profile':<10} {'width':>5}  {'cutter':<6} {'native QR':>10} {'image QR':>9}")
    for name in args.profile or PROFILES:
        target = target_for(name)
        native = len(render(slip, name, "native")) if target.native_qr else None
        image = len(render(slip, name, "image"))
        print(
            f"{name:<10} {target.width_dots:>5}  {target.cut_mode or 'none':<6} "
            f"{native if native is not None else '-':>10} {image:>9}"
        )


if __name__ == "__main__":
    main()
