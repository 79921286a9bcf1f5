"""Each command's options, declared once (help, default, range), and the argparse types they use."""
