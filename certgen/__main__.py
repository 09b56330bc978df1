from certgen.cli import main

main()
