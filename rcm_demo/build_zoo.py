"""``python -m rcm_demo.build_zoo``: the command users type; the code is ``rcm_demo.training.build_zoo``."""

from rcm_demo.training.build_zoo import main

if __name__ == "__main__":
    main()
