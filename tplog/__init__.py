"""tplog: a clinician's log of trigger point injections.

Nothing is imported here so that `tplog --help` and `import tplog` stay cheap.
"""

__version__ = "0.1.0"
