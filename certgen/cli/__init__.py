"""The command line: a thin shell that turns CertgenError and Outcome into a message and
an exit code. Each error class and each Outcome carries its code; `certgen -h` lists them.

One module per command group; each registers its commands on ``root.cli`` when imported,
which ``root`` does only for the command that runs (``root.COMMANDS``).
"""

from certgen.cli.root import cli


def main() -> None:
    cli(prog_name="certgen")
