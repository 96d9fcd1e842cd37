from cluster_credit_cli.cli import main

main()
