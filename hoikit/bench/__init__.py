"""``hoikit bench <what>``: quality figures and timings as JSON, with the machine they ran on."""
