from culturesim.cli import main

main()
