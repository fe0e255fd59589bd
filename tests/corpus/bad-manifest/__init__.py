"""Never imported: its manifest is wrong."""
