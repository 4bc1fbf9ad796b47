"""``python -m metaopt``: the ``metaopt`` command (same as the console script)."""

from metaopt._paths import use_checkout_cli

use_checkout_cli()

from metaopt.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
