"""Files a manager takes away: the tier report, the share pack, the dossier export. They ask the owners for figures and run no SQL."""
