"""``python -m rcm_demo.evaluate``: the command users type; the code is ``rcm_demo.training.evaluate``."""

from rcm_demo.training.evaluate import main

if __name__ == "__main__":
    main()
