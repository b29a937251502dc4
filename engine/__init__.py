"""Pure modelling on arrays and frames.

Reading the football-data.co.uk format, the Bayesian team-strength models,
inference, posterior markets, scoring rules, staking and validation. Nothing
here opens the database or prints.
"""
