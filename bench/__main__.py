"""``python -m bench``: the gateway's overhead bench (bench/overhead.py). Not part of the tests."""

from bench.overhead import main

raise SystemExit(main())
