"""Reading sales exports: format sniffing, readers, header detection, mapping, cleaning, load."""
