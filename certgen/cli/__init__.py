"""The command line: a thin shell that turns CertgenError and Outcome into a message and
an exit code. Each error class and each Outcome carries its code; `certgen -h` lists them.

One module per command group; importing them registers their commands on ``cli``.
"""

from certgen.cli import (  # noqa: F401  (registers commands)
    admin,
    designs,
    issuing,
    lists,
    records,
    sending,
    setup,
)
from certgen.cli.base import cli


def main() -> None:
    cli(prog_name="certgen")
