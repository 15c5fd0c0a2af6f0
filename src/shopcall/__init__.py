"""ShopCall: self-hostable video consultation for online shops."""

__version__ = "0.1.0"
