"""python -m mmstudio.training.digits OUT [--seed N] [--size small|full] [--samples DIR]"""

from .build import main

raise SystemExit(main())
