# The training curves of docs/results.md, written by dsl_examples/experiment.cpp
set terminal pngcairo size 1440,760 font ",10"
set encoding utf8
set output 'docs/img/experiment-curves.png'
set multiplot layout 2,3 title "test accuracy (top) and training loss (bottom) per epoch, mean over 3 seeds"
set grid
set xlabel 'epoch'
set xtics 1
set yrange [72.161:84.459]
set key bottom right
set ylabel 'test accuracy (%)'
set title "ReLU (β = 1)"
plot 'docs/results/small-fashion-mnist/curves-relu.dat' using 1:2 with linespoints title 'none', 'docs/results/small-fashion-mnist/curves-relu.dat' using 1:3 with linespoints title 'penalty, λ = 1', 'docs/results/small-fashion-mnist/curves-relu.dat' using 1:4 with linespoints title 'Gram–Schmidt where K ≤ D', 'docs/results/small-fashion-mnist/curves-relu.dat' using 1:5 with linespoints title 'CholeskyQR2 where K ≤ D'
set title "SiLU (β = ½)"
plot 'docs/results/small-fashion-mnist/curves-silu.dat' using 1:2 with linespoints title 'none', 'docs/results/small-fashion-mnist/curves-silu.dat' using 1:3 with linespoints title 'penalty, λ = 1', 'docs/results/small-fashion-mnist/curves-silu.dat' using 1:4 with linespoints title 'Gram–Schmidt where K ≤ D', 'docs/results/small-fashion-mnist/curves-silu.dat' using 1:5 with linespoints title 'CholeskyQR2 where K ≤ D'
set title "swish, β learned per channel"
plot 'docs/results/small-fashion-mnist/curves-swish-learned.dat' using 1:2 with linespoints title 'none', 'docs/results/small-fashion-mnist/curves-swish-learned.dat' using 1:3 with linespoints title 'penalty, λ = 1', 'docs/results/small-fashion-mnist/curves-swish-learned.dat' using 1:4 with linespoints title 'Gram–Schmidt where K ≤ D', 'docs/results/small-fashion-mnist/curves-swish-learned.dat' using 1:5 with linespoints title 'CholeskyQR2 where K ≤ D'
set yrange [0.289073:0.854497]
set key top right
set ylabel 'training loss'
set title "ReLU (β = 1)"
plot 'docs/results/small-fashion-mnist/curves-relu.dat' using 1:6 with linespoints title 'none', 'docs/results/small-fashion-mnist/curves-relu.dat' using 1:7 with linespoints title 'penalty, λ = 1', 'docs/results/small-fashion-mnist/curves-relu.dat' using 1:8 with linespoints title 'Gram–Schmidt where K ≤ D', 'docs/results/small-fashion-mnist/curves-relu.dat' using 1:9 with linespoints title 'CholeskyQR2 where K ≤ D'
set title "SiLU (β = ½)"
plot 'docs/results/small-fashion-mnist/curves-silu.dat' using 1:6 with linespoints title 'none', 'docs/results/small-fashion-mnist/curves-silu.dat' using 1:7 with linespoints title 'penalty, λ = 1', 'docs/results/small-fashion-mnist/curves-silu.dat' using 1:8 with linespoints title 'Gram–Schmidt where K ≤ D', 'docs/results/small-fashion-mnist/curves-silu.dat' using 1:9 with linespoints title 'CholeskyQR2 where K ≤ D'
set title "swish, β learned per channel"
plot 'docs/results/small-fashion-mnist/curves-swish-learned.dat' using 1:6 with linespoints title 'none', 'docs/results/small-fashion-mnist/curves-swish-learned.dat' using 1:7 with linespoints title 'penalty, λ = 1', 'docs/results/small-fashion-mnist/curves-swish-learned.dat' using 1:8 with linespoints title 'Gram–Schmidt where K ≤ D', 'docs/results/small-fashion-mnist/curves-swish-learned.dat' using 1:9 with linespoints title 'CholeskyQR2 where K ≤ D'
unset multiplot
