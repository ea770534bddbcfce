"""Ticket printing: TicketSlip -> ESC/POS bytes -> a python-escpos transport.

Imports neither Flask nor the domain (tests/test_architecture.py holds that line).
"""
