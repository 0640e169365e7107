"""The ``gpugrad`` command (also ``python -m gpugrad``)."""

import argparse
import json
import sys


def _doctor(args):
    import gpugrad

    report = gpugrad.info(as_dict=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        width = max(len(k) for k in report)
        for k, v in report.items():
            print(f"{k:<{width}}  {v}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="gpugrad", description="gpugrad command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser("doctor", help="which backend is active, what is built, what to install")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(run=_doctor)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
