"""Game rules as gymnasium environments: Say-Select and Hanabi."""
