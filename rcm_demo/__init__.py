"""rcm-demo: see why the size of a CNN's final feature maps matters for adversarial robustness."""

__version__ = "0.1.0"
