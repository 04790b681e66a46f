"""Looking inside a network: summary tables, receptive fields and the explain trace."""
