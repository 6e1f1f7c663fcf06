"""Post-incident reviews, action items and trend reports."""
