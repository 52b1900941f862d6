"""The deploy gate: one verdict core that every gate adapter and `deployscan verdict` share."""
