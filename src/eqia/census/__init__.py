"""Census 2021 reference data: areas, baselines, comparators, age crossings."""
