"""`python -m benchmarks`: solve the generated fleets and print and save the measurements."""

from benchmarks.run import main

raise SystemExit(main())
