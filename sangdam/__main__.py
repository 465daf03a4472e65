from sangdam.cli import main

raise SystemExit(main())
