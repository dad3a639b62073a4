"""python -m rcm_demo.zoo import|export: checkpoints of the paper's reference code in and out of the zoo.

python -m rcm_demo.zoo import paras.pt --arch resnet18 --strides 1122 --scale 1 --pool avg --recipe at
python -m rcm_demo.zoo export resnet18w16_s1122_x1_avg.at paras.pt --format reference
"""

from .interop import main

main()
