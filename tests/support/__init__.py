"""Stand-ins for the network parts promoter talks to, on 127.0.0.1 with random ports.

They are stand-ins: small real servers that implement the REST and SMTP
behaviour DESIGN.md describes. No real IDM or Azure runs in these tests.
"""
