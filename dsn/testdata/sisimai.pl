# Prints what Sisimai reads from each bounce named on the command line, one
# line per recipient: file, address, delivery status, reason (a file Sisimai
# finds no bounce in gives one line with "-").
use strict;
use warnings;
use Sisimai;
for my $f (@ARGV) {
	my $v = Sisimai->make($f, 'delivered' => 1) || [];
	print "$f\t-\t-\t-\n" unless @$v;
	for my $e (@$v) {
		printf "%s\t%s\t%s\t%s\n", $f, $e->recipient->address, $e->deliverystatus, $e->reason;
	}
}
