"""``python -m rcm_demo.train``: the command users type; the code is ``rcm_demo.training.train``."""

from rcm_demo.training.train import main

if __name__ == "__main__":
    main()
