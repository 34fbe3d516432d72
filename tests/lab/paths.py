"""Where things are in this checkout: the one definition every suite and
bench/ use (Python 2.7 and 3)."""
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(REPO, 'deployment_scripts')   # what the nodes get
MIGRATION = os.path.join(REPO, 'migration')          # rf-migrate-master's sources
