"""Many runs: experiment files, designs, the sweep engine, its result store and analysis."""
