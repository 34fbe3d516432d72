"""What the guest package (virt_guests, on the virt nodes) and
rf-migrate-master (master_migration, on the Fuel master) share, from this
one source: text that reads the same under Python 2.7 and 3.4+ (text), and
process groups killed on a timeout (processes). Both shipped forms carry a
byte-for-byte copy: the plugin's deployment_scripts/ and the one-file
rf-migrate-master.
"""
