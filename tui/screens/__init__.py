"""Screens: start-up (setup/progress), login, main, help, learning, pickers."""
