"""Credit reports per enterprise (企业信用评价报告): content from a round, rendered as PDF."""
