"""Teaching: exercises, feedback, misconceptions, rosters and grading."""
