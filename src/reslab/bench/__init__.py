"""`reslab bench`: speed and memory, as ratios against a plain eager reference run alongside."""
