from riverboat.cli import main

main()
