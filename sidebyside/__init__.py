"""Line up the three packages concern by concern: docs/compare.html and a terminal view."""
