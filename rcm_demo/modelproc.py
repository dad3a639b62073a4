"""``python -m rcm_demo.modelproc``: the command users type; the code is ``rcm_demo.serve.modelproc``."""

from rcm_demo.serve.modelproc import main

if __name__ == "__main__":
    main()
