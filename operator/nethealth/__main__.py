from nethealth import cli

raise SystemExit(cli.main())
