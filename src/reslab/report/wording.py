"""Every word a report shows a reader, per language. Code elsewhere passes only keys and numbers.

Placeholders are str.format fields; every key, with the same fields, exists in every language
(tests/report/test_wording.py checks this). Figures are labelled in the report's language too
(FIGURE_WORDS; Chinese needs a CJK font, else figures fall back to English).
"""

from __future__ import annotations

from typing import Final, Literal

from reslab import reference
from reslab.errors import ReslabError

Language = Literal["en", "zh"]

EN: Final[dict[str, str]] = {
    # document
    "html_lang": "en",
    "doc_title": "Deep residual learning on {dataset}: do plain nets degrade with depth, and do shortcuts fix it?",
    "subtitle": "A reslab {version} report · results from {date}",
    "figure_label": "Figure {n}.",
    # introduction
    "h_intro": "Introduction",
    "intro_problem": (
        "He et al. (2015) found that stacking more layers onto a plain convolutional network can "
        "make it worse, and worse on the training set too, so the cause is not overfitting: they "
        "called it the degradation problem. Their remedy is the residual block, in which a few "
        "layers learn a residual F(x) that is added to an identity shortcut x."
    ),
    "intro_question": (
        "This report puts the same two questions to nets trained by reslab. Do deeper plain nets "
        "end with a higher training error than shallower ones? And do the same nets with shortcuts "
        "avoid it? Every number below is read from the stored results, and each conclusion follows "
        "from those numbers and their spread over seeds."
    ),
    "intro_studies_lead": "Studies in this report:",
    "intro_study_item": "{title} — {source}",
    "study_degradation": "Degradation: plain and residual nets of growing depth",
    "study_responses": "Layer responses (the paper's Fig. 7)",
    "study_gradients": "Gradient norms per layer",
    "study_table6": "CIFAR-10 Table 6 side by side",
    "study_unknown": "Study '{study}'",
    "unknown_study": "This version of the report cannot render study '{study}'; its results file is listed in the introduction.",
    # setup
    "h_setup": "Setup",
    "h_env": "Hardware and software",
    "h_dataset": "Dataset",
    "h_recipe": "Recipe: {title}",
    "col_item": "Item",
    "col_value": "Value",
    "env_cpu": "CPU",
    "env_cpu_count": "CPU cores",
    "env_torch_threads": "PyTorch threads",
    "env_cuda": "GPU",
    "env_cuda_none": "none (CPU only)",
    "env_platform": "Platform",
    "env_python": "Python",
    "env_torch": "PyTorch",
    "env_torchvision": "torchvision",
    "env_numpy": "NumPy",
    "env_reslab": "reslab",
    "ds_name": "Name",
    "ds_train": "Training images",
    "ds_val": "Validation images",
    "ds_test": "Test images",
    "ds_shape": "Image shape (C×H×W)",
    "ds_classes": "Classes",
    "applies_to_lead": "For:",
    "not_recorded": "Not recorded in the results.",
    "seeds_line": "Seeds: {seeds} ({n} in all).",
    "wall_line": "Wall time of the whole study: {wall}.",
    "recipe_lead": "Training recipe, as stored with the results:",
    "command_lead": "To re-run this study exactly:",
    "no_command": "The results do not record the command that produced them.",
    "unit_s": "{v:.1f} s",
    "unit_min": "{v:.1f} min",
    "unit_h": "{v:.2f} h",
    # results, shared
    "h_results": "Results",
    "h_verdict": "Verdict",
    "col_model": "Model",
    "col_kind": "Kind",
    "col_depth": "Depth",
    "col_params": "Params",
    "kind_plain": "plain",
    "kind_residual": "residual",
    "mean_std_explain": "Errors in percent, mean ± standard deviation over seeds; a lone number means a single seed.",
    "paper_claim_lead": "The paper:",
    "note_lead": "Note:",
    # degradation
    "deg_intro": (
        "Plain and residual nets of each depth were trained with one recipe. The table gives the "
        "error at the end of training, the mean over {n} seeds, next to the paper's CIFAR-10 "
        "test error for the residual nets."
    ),
    "deg_intro_one": (
        "Plain and residual nets of each depth were trained with one recipe. The table gives the "
        "error at the end of training (one seed), next to the paper's CIFAR-10 test error for the "
        "residual nets."
    ),
    "col_flops": "FLOPs",
    "col_final_train": "Final train error %",
    "col_final_test": "Final test error %",
    "col_best_test": "Test error % at best validation",
    "col_seeds": "Seeds",
    "col_paper_cifar": "Paper test error % (CIFAR-10)",
    "paper_context_note": (
        "The paper column holds the paper's own CIFAR-10 results, quoted for scale only: these "
        "runs used the {dataset} dataset and a shorter recipe, so the numbers are not expected "
        "to match."
    ),
    "degradation_claim": reference.DEGRADATION_CLAIM,
    "fig_train_error_curves": "Training error during training. Plain nets dashed, residual nets solid, one colour per depth; dotted verticals mark learning-rate drops; shading is ± one standard deviation over seeds.",
    "fig_test_error_curves": "Test error during training, drawn as in the previous figure.",
    "fig_error_vs_depth": "Final training (left) and test (right) error against depth; error bars are one standard deviation over seeds.",
    "verdict_deg_yes": "Degradation observed: the final training error of {deep} minus that of {shallow} is {gap} points, more than the {margin}-point margin the study used.",
    "verdict_deg_no": "Degradation not observed: the final training error of {deep} minus that of {shallow} is {gap} points, not more than the {margin}-point margin the study used.",
    "verdict_res_yes": "With shortcuts the deeper net does not degrade: the final training error of {deep} minus that of {shallow} is {gap} points (margin {margin} points).",
    "verdict_res_no": "With shortcuts the deeper net still degrades: the final training error of {deep} minus that of {shallow} is {gap} points (margin {margin} points).",
    "verdict_nothing_to_fix": "As the plain nets did not degrade at this scale, this run cannot show shortcuts fixing degradation.",
    "deg_test_compare": "Final test error: {plain_deep} {pd}% against {plain_shallow} {ps}%; {residual_deep} {rd}% against {residual_shallow} {rs}%.",
    "within_noise": "The gap between {deep} and {shallow} is no larger than its standard deviation over seeds, so it lies within run-to-run noise.",
    "single_seed_caveat": "Each model was trained with one seed only, so the spread between runs is unknown; read small gaps as noise.",
    "no_verdict": "The results store no verdict; compare the final training errors in the table.",
    # responses
    "resp_intro": "The standard deviation of each 3×3 layer's response (after batch norm, before the addition and the ReLU), measured on held-out images.",
    "col_layers_3x3": "3×3 layers",
    "col_mean_std": "Mean response std",
    "col_max_std": "Largest",
    "col_min_std": "Smallest",
    "figure7_claim": reference.FIGURE7_CLAIM,
    "fig_responses": "Response standard deviation of each 3×3 layer: left in the net's order, right sorted from largest to smallest (compare the paper's Fig. 7). Plain dashed, residual solid.",
    "resp_res_smaller": "At depth {depth} the residual layers respond more weakly than the plain ones (mean std {res} against {plain}), as the paper reports.",
    "resp_res_not_smaller": "At depth {depth} the residual layers do not respond more weakly than the plain ones (mean std {res} against {plain}); the paper's observation is not observed here.",
    "resp_deeper_smaller": "Deeper residual nets respond more weakly ({chain}), as the paper reports.",
    "resp_deeper_not_smaller": "Deeper residual nets do not respond consistently more weakly ({chain}); the paper's observation is not observed here.",
    # gradients
    "grad_intro": "The L2 norm of the gradient of each conv layer's weights at initialisation, averaged over probe batches. Vanishing or exploding gradients show as early layers with norms far below or far above the last layer's.",
    "grad_trained_too": "The same measurement after training is shown in the second panel of the figure (side by side on a wide screen, below on a phone).",
    "col_layers": "Conv layers",
    "col_first_grad": "First layer grad norm",
    "col_last_grad": "Last layer grad norm",
    "col_first_over_last": "First / last",
    "col_first_grad_trained": "First layer, trained",
    "fig_gradients": "Gradient norm of each conv layer's weights against its position in the net (log scale). Plain dashed, residual solid, one colour per depth.",
    "grad_plain_uneven": "At depth {depth} the plain net's gradient norm changes by a factor {plain_ratio} from the first layer to the last ({trend}; first layer {plain}), the residual net's by {res_ratio} (first layer {res}): the shortcuts keep the gradient even through depth.",
    "grad_plain_not_uneven": "At depth {depth} the plain net's gradients are not more uneven across layers than the residual net's (first/last ratio {plain_ratio} against {res_ratio}; first layer {plain} against {res}).",
    "grad_trend_explode": "growing towards the input: exploding gradients",
    "grad_trend_vanish": "shrinking towards the input: vanishing gradients",
    # table 6
    "t6_intro": "The paper's Table 6 (CIFAR-10 test error) next to a public PyTorch reproduction and what reslab measured for the same models.",
    "col_paper_error": "Paper error %",
    "col_repro_error": "PyTorch reproduction error %",
    "col_measured": "reslab error %",
    "col_status": "Status",
    "status_measured": "measured",
    "status_not_run": "not run",
    "t6_measured_line": "{model}: reslab measured {measured}% test error against the paper's {paper}% ({diff} points).",
    "t6_none_measured": "No Table 6 model was trained for this report; the table shows the published numbers only.",
    # confusion matrix (optional in any study)
    "fig_confusion": "Confusion matrix of {model} on the test set: rows are true classes, columns predicted ones.",
    # conclusions
    "h_conclusions": "Conclusions",
    "no_findings": "The stored results hold nothing to conclude from.",
    "conclusion_scope": "These conclusions hold for the {dataset} dataset, the recipe and the seeds listed under Setup; a different scale may give a different answer.",
    "h_verdicts": "Verdicts",
    "h_models": "The nets: size and cost",
    "ratio_range": "{value} ({low} to {high} over {n} initialisations)",
    "h_background": "Background",
    "h_appendix": "Appendix: setup and recipes",
    "appendix_summary": "Hardware, software, dataset, the full training recipe and the command to re-run each study",
    "col_claim": "Claim",
    "col_measured_gap": "Measured gap (points)",
    "col_threshold": "Threshold (points)",
    "col_verdict": "Verdict",
    "status_observed": "observed",
    "status_not observed": "not observed",
    "status_cannot be judged": "cannot be judged here",
    "claim_degradation": "The deeper plain net trains worse ({deep} vs {shallow})",
    "claim_residual_no_worse": "The deeper ResNet trains no worse ({deep} vs {shallow})",
    "claim_residual_lower": "The deeper ResNet reaches a lower error, as the paper states ({deep} vs {shallow})",
    "claim_shortcuts_fix": "Shortcuts remove the degradation ({deep} vs {shallow} and vs {deep_plain})",
    "threshold_worse": "higher by more than {margin}",
    "threshold_no_worse": "not higher by more than {margin}",
    "threshold_lower": "lower by more than {margin}",
    "threshold_fix": "first claim observed; second observed; {deep} lower than {deep_plain} by more than {margin}",
    "gap_band": "{gap} ± {se} (band {low} to {high})",
    "gap_only": "{gap}",
    "reason_not_converged": "the run is too short to converge: {shallow} ends at {value}% training error, above the {limit}% the rule requires",
    "reason_one_seed": "one seed only, so there is no spread to judge with",
    "reason_short_run": "the runs were shortened below the study's recipe, too short for the deep nets to converge",
    "reason_floor": "{shallow} already ends at {value}% training error, which leaves no room for a lower error by more than {margin} points",
    "reason_spread": "the seeds disagree too much: the band {low} to {high} straddles the threshold",
    "reason_missing": "a number is missing from the results",
    "reason_nothing_to_fix": "the plain nets did not degrade, so there is nothing to fix",
    "reason_degradation_unjudged": "the degradation itself cannot be judged",
    "reason_residual_cannot_be_judged": "a comparison it needs cannot be judged",
    "verdict_line": "{claim}: {status}.",
    "verdict_line_reason": "{claim}: {status}, because {reason}.",
    "verdict_rule": "How the verdicts are reached. Each claim compares final training errors (%, every training image scored at the end of the run), as the paper's degradation argument does. The gap is the deeper net's mean over seeds minus the shallower net's; ± is the gap's standard error, √(s₁²/n₁ + s₂²/n₂); the band is the gap ± {z} standard errors. A claim is observed when the whole band passes the threshold, not observed when the whole band fails it, and cannot be judged here otherwise: more spread between seeds widens the band, so it never makes a claim easier to pass. Gaps within {margin} points count as no difference. A claim also cannot be judged with fewer than {min_seeds} seeds, or when the shallower net ends above {converged}% training error (the run was too short to converge).",
    "warmup_note": "Every net here, plain and residual, starts at learning rate {lr} until its training error falls below {until}%, then uses the recipe's rate. The paper used this warm-up for ResNet-110 only; this study applies it to all nets so that they share one recipe, because at 0.1 from the first step the deep nets often fail to start on this small dataset.",
    "warmup_linear_note": (
        "Every net here, plain and residual, ramps its learning rate linearly from 0 to {lr} "
        "over the first {n} iterations ({share}% of the run). This is not the paper's recipe: "
        "the paper warms only ResNet-110 up, at 0.01 until its training error is below 80% "
        "(about 400 of 64k iterations). On this small dataset that criterion is met within about "
        "60 iterations, and the jump to 0.1 then left ResNet-56 stuck at 20-30% training error "
        "in some seeds; the ramp trained every seed tried, and one recipe for all nets keeps the "
        "comparison fair."
    ),
    "gradients_paper_lead": "The paper, section 4.1, on its plain nets:",
    "gradients_paper_quote": "“We also verify that the backward propagated gradients exhibit healthy norms with BN.”",
    "gradients_measured": "Measured here at initialisation, the plain BN nets' gradients grow towards the input: the first conv layer's gradient norm over the classifier's is {ratios}. The residual nets stay near even ({res_ratios}). This does not contradict the paper's trained nets, but at initialisation the plain nets' gradients are not healthy. Yang et al. (2019, “A Mean Field Theory of Batch Normalization”, ICLR) show that in deep fully connected nets batch norm itself makes gradients explode with depth at initialisation, and that such nets without skip connections are not trainable at large depth.",
    "responses_not_meaningful": "Not judged here. Figure 7's comparison is about trained nets: the paper's nets were trained for 64k iterations. These nets trained for {iterations} iterations on a small dataset, and their batch-norm scales are still close to their initial value of 1 (mean |γ| {gamma}), so their responses mostly show the initialisation; a verdict would not test the paper's claim.",
    "responses_short_note": "Not judged here: Figure 7 is about fully trained nets, and these nets trained for only {iterations} iterations, so their responses mostly reflect the initialisation.",
    "fig_train_error_curves_seeds": "Training error during training (the shape of the paper's Fig. 6). Plain nets dashed, residual nets solid, one colour per depth; dotted verticals mark the learning-rate drops; the line is the mean over {n} seeds and the shading ± one standard deviation.",
    "fig_train_error_curves_one": "Training error during training (the shape of the paper's Fig. 6). Plain nets dashed, residual nets solid, one colour per depth; dotted verticals mark the learning-rate drops. One seed per net.",
    "fig_error_vs_depth_seeds": "Final training (left) and test (right) error against depth; plain dashed with hollow markers, residual solid, each depth in its colour; error bars are one standard deviation over {n} seeds.",
    "fig_error_vs_depth_one": "Final training (left) and test (right) error against depth; plain dashed with hollow markers, residual solid, each depth in its colour. One seed per net.",
    "grad_intro2": "The L2 norm of the gradient of each weighted layer's weights at initialisation, averaged over probe batches: the conv layers from the input side, then, last, the fully connected classifier (fc). Vanishing or exploding gradients show as early conv layers with norms far below or far above the classifier's.",
    "col_weighted_layers": "Weighted layers",
    "col_first_conv_grad": "First conv grad norm",
    "col_fc_grad": "Classifier (fc) grad norm",
    "col_first_over_fc": "First conv / fc",
    "fig_gradients2": "Gradient norm of each weighted layer's weights against its position (log scale); the last point of each line is the classifier (fc). Plain dashed, residual solid, one colour per depth.",
    "grad_uneven2": "At depth {depth} the plain net's first-conv/fc gradient ratio is {plain_ratio} ({trend}), the residual net's {res_ratio}: the shortcuts keep the gradient even through depth.",
    "grad_not_uneven2": "At depth {depth} the plain net's gradients are not more uneven than the residual net's (first-conv/fc ratio {plain_ratio} against {res_ratio}).",
    "scope_note": "These verdicts hold for the {dataset} dataset, the recipe and the seeds in the appendix; a different scale may give a different answer.",
}

ZH: Final[dict[str, str]] = {
    "html_lang": "zh-CN",
    "doc_title": "{dataset} 上的深度残差学习：普通网络会随深度退化吗？捷径连接能解决吗？",
    "subtitle": "reslab {version} 报告 · 结果日期 {date}",
    "figure_label": "图 {n}.",
    "h_intro": "引言",
    "intro_problem": (
        "He 等人（2015）发现，给普通卷积网络堆叠更多层反而可能让它变差，而且在训练集上也变差，"
        "因此原因不是过拟合：他们称之为退化问题。他们的解决办法是残差块：几层网络学习一个残差 F(x)，"
        "再与恒等捷径 x 相加。"
    ),
    "intro_question": (
        "本报告对 reslab 训练的网络提出同样的两个问题：更深的普通网络最终的训练误差是否高于较浅的？"
        "加上捷径连接的同样网络能否避免这一点？下文每个数字都读自保存的结果，"
        "每条结论都来自这些数字及其在各随机种子间的离散程度。"
    ),
    "intro_studies_lead": "本报告包含的实验：",
    "intro_study_item": "{title} — {source}",
    "study_degradation": "退化：深度递增的普通网络与残差网络",
    "study_responses": "层响应（论文图 7）",
    "study_gradients": "各层梯度范数",
    "study_table6": "CIFAR-10 表 6 对照",
    "study_unknown": "实验“{study}”",
    "unknown_study": "此版本的报告无法呈现实验“{study}”；其结果文件已列于引言中。",
    "h_setup": "实验设置",
    "h_env": "硬件与软件",
    "h_dataset": "数据集",
    "h_recipe": "训练方案：{title}",
    "col_item": "项目",
    "col_value": "值",
    "env_cpu": "CPU",
    "env_cpu_count": "CPU 核数",
    "env_torch_threads": "PyTorch 线程数",
    "env_cuda": "GPU",
    "env_cuda_none": "无（仅 CPU）",
    "env_platform": "平台",
    "env_python": "Python",
    "env_torch": "PyTorch",
    "env_torchvision": "torchvision",
    "env_numpy": "NumPy",
    "env_reslab": "reslab",
    "ds_name": "名称",
    "ds_train": "训练图像",
    "ds_val": "验证图像",
    "ds_test": "测试图像",
    "ds_shape": "图像形状（C×H×W）",
    "ds_classes": "类别数",
    "applies_to_lead": "适用于：",
    "not_recorded": "结果中未记录。",
    "seeds_line": "随机种子：{seeds}（共 {n} 个）。",
    "wall_line": "整个实验耗时：{wall}。",
    "recipe_lead": "训练方案（与结果一同保存）：",
    "command_lead": "精确重跑此实验的命令：",
    "no_command": "结果中没有记录生成它们的命令。",
    "unit_s": "{v:.1f} 秒",
    "unit_min": "{v:.1f} 分钟",
    "unit_h": "{v:.2f} 小时",
    "h_results": "结果",
    "h_verdict": "结论判定",
    "col_model": "模型",
    "col_kind": "类型",
    "col_depth": "深度",
    "col_params": "参数量",
    "kind_plain": "普通",
    "kind_residual": "残差",
    "mean_std_explain": "误差单位为百分比，取各随机种子的均值 ± 标准差；只有一个数字表示仅一个种子。",
    "paper_claim_lead": "论文：",
    "note_lead": "说明：",
    "deg_intro": (
        "每种深度的普通网络和残差网络都用同一训练方案训练。表中给出训练结束时的误差"
        "（{n} 个种子），并在旁边列出论文中残差网络在 CIFAR-10 上的测试误差。"
    ),
    "deg_intro_one": (
        "每种深度的普通网络和残差网络都用同一训练方案训练。表中给出训练结束时的误差"
        "（1 个种子），并在旁边列出论文中残差网络在 CIFAR-10 上的测试误差。"
    ),
    "col_flops": "FLOPs",
    "col_final_train": "最终训练误差 %",
    "col_final_test": "最终测试误差 %",
    "col_best_test": "最佳验证点的测试误差 %",
    "col_seeds": "种子数",
    "col_paper_cifar": "论文测试误差 %（CIFAR-10）",
    "paper_context_note": (
        "论文一栏是论文自己在 CIFAR-10 上的结果，仅作量级参考：这些运行使用的是 {dataset} "
        "数据集和更短的训练方案，因此数字不应相同。"
    ),
    "degradation_claim": (
        "更深的普通网络比较浅的网络有更高的训练误差和测试误差（plain-56 比 plain-20 差，"
        "plain-110 的误差始终高于 60%）：这就是退化问题。加上恒等捷径后，更深的 ResNet "
        "达到更低的误差（He 等人 2015，图 6）。"
    ),
    "fig_train_error_curves": "训练过程中的训练误差。普通网络为虚线，残差网络为实线，每种深度一种颜色；点状竖线标出学习率下降处；阴影为各种子间 ± 一个标准差。",
    "fig_test_error_curves": "训练过程中的测试误差，画法同上图。",
    "fig_error_vs_depth": "最终训练误差（左）和测试误差（右）随深度的变化；误差棒为各种子间的一个标准差。",
    "verdict_deg_yes": "观察到退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点，超过实验所用的 {margin} 个百分点阈值。",
    "verdict_deg_no": "未观察到退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点，未超过实验所用的 {margin} 个百分点阈值。",
    "verdict_res_yes": "加上捷径后更深的网络没有退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点（阈值 {margin} 个百分点）。",
    "verdict_res_no": "加上捷径后更深的网络仍然退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点（阈值 {margin} 个百分点）。",
    "verdict_nothing_to_fix": "由于普通网络在此规模下没有退化，这次运行无法说明捷径连接解决了退化。",
    "deg_test_compare": "最终测试误差：{plain_deep} 为 {pd}%，{plain_shallow} 为 {ps}%；{residual_deep} 为 {rd}%，{residual_shallow} 为 {rs}%。",
    "within_noise": "{deep} 与 {shallow} 之间的差距不大于其在各种子间的标准差，属于运行间的随机波动。",
    "single_seed_caveat": "每个模型只用一个种子训练，运行间的离散程度未知；较小的差距应视为噪声。",
    "no_verdict": "结果中没有保存判定；请比较表中的最终训练误差。",
    "resp_intro": "每个 3×3 层响应（批归一化之后、相加与 ReLU 之前）的标准差，在留出图像上测得。",
    "col_layers_3x3": "3×3 层数",
    "col_mean_std": "平均响应标准差",
    "col_max_std": "最大",
    "col_min_std": "最小",
    "figure7_claim": "残差函数的响应通常比普通网络的小，且越深的 ResNet 响应越小（论文图 7）。",
    "fig_responses": "每个 3×3 层响应的标准差：左图按网络中的顺序，右图按大小从大到小排序（对照论文图 7）。普通为虚线，残差为实线。",
    "resp_res_smaller": "深度 {depth} 时，残差层的响应弱于普通层（平均标准差 {res} 对 {plain}），与论文一致。",
    "resp_res_not_smaller": "深度 {depth} 时，残差层的响应并不弱于普通层（平均标准差 {res} 对 {plain}）；此处未观察到论文的现象。",
    "resp_deeper_smaller": "更深的残差网络响应更弱（{chain}），与论文一致。",
    "resp_deeper_not_smaller": "更深的残差网络的响应并非一致地更弱（{chain}）；此处未观察到论文的现象。",
    "grad_intro": "初始化时每个卷积层权重梯度的 L2 范数，在若干探测批次上取平均。若梯度消失或爆炸，前面各层的范数会远小于或远大于最后一层。",
    "grad_trained_too": "训练之后的同一测量见图中第二个面板（宽屏时在右侧，手机上在下方）。",
    "col_layers": "卷积层数",
    "col_first_grad": "第一层梯度范数",
    "col_last_grad": "最后一层梯度范数",
    "col_first_over_last": "第一层 / 最后一层",
    "col_first_grad_trained": "第一层（训练后）",
    "fig_gradients": "每个卷积层权重的梯度范数随其在网络中位置的变化（对数坐标）。普通为虚线，残差为实线，每种深度一种颜色。",
    "grad_plain_uneven": "深度 {depth} 时，普通网络的梯度范数从第一层到最后一层相差 {plain_ratio} 倍（{trend}；第一层 {plain}），残差网络仅相差 {res_ratio} 倍（第一层 {res}）：捷径连接使梯度在各层间保持均匀。",
    "grad_plain_not_uneven": "深度 {depth} 时，普通网络各层梯度并不比残差网络更不均匀（第一层/最后一层之比 {plain_ratio} 对 {res_ratio}；第一层 {plain} 对 {res}）。",
    "grad_trend_explode": "向输入端增大：梯度爆炸",
    "grad_trend_vanish": "向输入端减小：梯度消失",
    "t6_intro": "论文表 6（CIFAR-10 测试误差），与一个公开的 PyTorch 复现以及 reslab 对同样模型的测量结果并列。",
    "col_paper_error": "论文误差 %",
    "col_repro_error": "PyTorch 复现误差 %",
    "col_measured": "reslab 误差 %",
    "col_status": "状态",
    "status_measured": "已测量",
    "status_not_run": "未运行",
    "t6_measured_line": "{model}：reslab 测得测试误差 {measured}%，论文为 {paper}%（相差 {diff} 个百分点）。",
    "t6_none_measured": "本报告没有训练表 6 中的任何模型；表中只列出已发表的数字。",
    "fig_confusion": "{model} 在测试集上的混淆矩阵：行为真实类别，列为预测类别。",
    "h_conclusions": "结论",
    "no_findings": "保存的结果中没有可以得出结论的内容。",
    "conclusion_scope": "这些结论仅适用于 {dataset} 数据集以及“实验设置”中列出的训练方案和种子；换一个规模可能得到不同的答案。",
    "h_verdicts": "结论判定",
    "h_models": "网络：规模与计算量",
    "ratio_range": "{value}（{n} 次初始化中为 {low} 至 {high}）",
    "h_background": "背景",
    "h_appendix": "附录：实验设置与训练方案",
    "appendix_summary": "硬件、软件、数据集、完整训练方案以及重跑每个实验的命令",
    "col_claim": "论断",
    "col_measured_gap": "测得差距（百分点）",
    "col_threshold": "阈值（百分点）",
    "col_verdict": "判定",
    "status_observed": "观察到",
    "status_not observed": "未观察到",
    "status_cannot be judged": "此处无法判断",
    "claim_degradation": "更深的普通网络训练得更差（{deep} 对 {shallow}）",
    "claim_residual_no_worse": "更深的 ResNet 训练得不更差（{deep} 对 {shallow}）",
    "claim_residual_lower": "更深的 ResNet 达到更低的误差，如论文所述（{deep} 对 {shallow}）",
    "claim_shortcuts_fix": "捷径连接消除了退化（{deep} 对 {shallow}，以及对 {deep_plain}）",
    "threshold_worse": "高出超过 {margin}",
    "threshold_no_worse": "高出不超过 {margin}",
    "threshold_lower": "低出超过 {margin}",
    "threshold_fix": "第一条观察到；第二条观察到；{deep} 比 {deep_plain} 低出超过 {margin}",
    "gap_band": "{gap} ± {se}（区间 {low} 至 {high}）",
    "gap_only": "{gap}",
    "reason_not_converged": "训练太短，尚未收敛：{shallow} 最终训练误差为 {value}%，高于规则要求的 {limit}%",
    "reason_one_seed": "只有一个种子，没有可用于判断的离散程度",
    "reason_short_run": "训练被缩短到低于实验方案的长度，深层网络来不及收敛",
    "reason_floor": "{shallow} 的最终训练误差已为 {value}%，没有空间再低出 {margin} 个百分点以上",
    "reason_spread": "各种子结果差异太大：区间 {low} 至 {high} 跨越了阈值",
    "reason_missing": "结果中缺少某个数字",
    "reason_nothing_to_fix": "普通网络没有退化，因此没有需要消除的退化",
    "reason_degradation_unjudged": "退化本身无法判断",
    "reason_residual_cannot_be_judged": "它所依赖的某项比较无法判断",
    "verdict_line": "{claim}：{status}。",
    "verdict_line_reason": "{claim}：{status}，因为{reason}。",
    "verdict_rule": "判定方法。每条论断比较最终训练误差（%，训练结束时对全部训练图像评分），与论文关于退化的论证一致。差距为较深网络各种子均值减去较浅网络的均值；± 为差距的标准误 √(s₁²/n₁ + s₂²/n₂)；区间为差距 ± {z} 个标准误。整个区间都满足阈值时判为观察到，整个区间都不满足时判为未观察到，否则判为此处无法判断：种子间离散越大，区间越宽，因此绝不会让论断更容易成立。{margin} 个百分点以内的差距视为没有差别。种子少于 {min_seeds} 个，或较浅网络的最终训练误差高于 {converged}%（训练太短，未收敛）时，同样无法判断。",
    "warmup_note": "这里的每个网络（普通与残差）都先以学习率 {lr} 训练，直到训练误差低于 {until}%，再使用方案中的学习率。论文只对 ResNet-110 使用这种预热；本实验对所有网络使用，使它们共用同一训练方案，因为在这个小数据集上从第一步就用 0.1 时，深层网络常常无法开始收敛。",
    "warmup_linear_note": (
        "这里的每个网络（普通与残差）都在前 {n} 次迭代（训练的 {share}%）内把学习率从 0 线性升到 {lr}。"
        "这不是论文的方案：论文只对 ResNet-110 预热，以 0.01 训练到训练误差低于 80%（64k 次迭代中约 400 次）。"
        "在这个小数据集上，这一条件约 60 次迭代内就会满足，随后跳到 0.1 使 ResNet-56 在部分种子下卡在 20-30% 的训练误差；"
        "线性升温让所有试过的种子都训练成功，且所有网络共用同一方案，比较才公平。"
    ),
    "gradients_paper_lead": "论文第 4.1 节关于其普通网络的说法：",
    "gradients_paper_quote": "“我们也验证了在使用 BN 时反向传播的梯度范数是健康的。”",
    "gradients_measured": "此处在初始化时测得，普通 BN 网络的梯度向输入端增大：第一个卷积层与分类器的梯度范数之比为 {ratios}。残差网络保持接近均匀（{res_ratios}）。这并不否定论文中训练后的网络，但在初始化时普通网络的梯度并不健康。Yang 等人（2019，《A Mean Field Theory of Batch Normalization》，ICLR）表明，在深层全连接网络中，批归一化本身会使梯度在初始化时随深度爆炸，没有跳跃连接的这类网络在很深时无法训练。",
    "responses_not_meaningful": "此处不作判定。图 7 的比较针对训练好的网络：论文的网络训练了 64k 次迭代。这些网络在小数据集上只训练了 {iterations} 次迭代，其批归一化缩放系数仍接近初始值 1（平均 |γ| 为 {gamma}），因此其响应主要反映初始化；在此给出判定并不能检验论文的论断。",
    "responses_short_note": "此处不作判定：图 7 针对充分训练的网络，而这些网络只训练了 {iterations} 次迭代，其响应主要反映初始化。",
    "fig_train_error_curves_seeds": "训练过程中的训练误差（论文图 6 的形状）。普通网络为虚线，残差网络为实线，每种深度一种颜色；点状竖线标出学习率下降处；曲线为 {n} 个种子的均值，阴影为 ± 一个标准差。",
    "fig_train_error_curves_one": "训练过程中的训练误差（论文图 6 的形状）。普通网络为虚线，残差网络为实线，每种深度一种颜色；点状竖线标出学习率下降处。每个网络一个种子。",
    "fig_error_vs_depth_seeds": "最终训练误差（左）和测试误差（右）随深度的变化；普通为虚线空心点，残差为实线，每种深度用其颜色；误差棒为 {n} 个种子间的一个标准差。",
    "fig_error_vs_depth_one": "最终训练误差（左）和测试误差（右）随深度的变化；普通为虚线空心点，残差为实线，每种深度用其颜色。每个网络一个种子。",
    "grad_intro2": "初始化时每个带权重层的权重梯度 L2 范数，在若干探测批次上取平均：先是从输入端起的各卷积层，最后是全连接分类器（fc）。若梯度消失或爆炸，前面卷积层的范数会远小于或远大于分类器的。",
    "col_weighted_layers": "带权重层数",
    "col_first_conv_grad": "第一个卷积层梯度范数",
    "col_fc_grad": "分类器（fc）梯度范数",
    "col_first_over_fc": "第一卷积层 / fc",
    "fig_gradients2": "每个带权重层的权重梯度范数随其位置的变化（对数坐标）；每条线的最后一点是分类器（fc）。普通为虚线，残差为实线，每种深度一种颜色。",
    "grad_uneven2": "深度 {depth} 时，普通网络第一卷积层/fc 的梯度之比为 {plain_ratio}（{trend}），残差网络为 {res_ratio}：捷径连接使梯度在各层间保持均匀。",
    "grad_not_uneven2": "深度 {depth} 时，普通网络的梯度并不比残差网络更不均匀（第一卷积层/fc 之比 {plain_ratio} 对 {res_ratio}）。",
    "scope_note": "这些判定仅适用于 {dataset} 数据集以及附录中列出的训练方案和种子；换一个规模可能得到不同的答案。",
}

WORDING: Final[dict[str, dict[str, str]]] = {"en": EN, "zh": ZH}
LANGUAGES: Final[tuple[str, ...]] = tuple(WORDING)


class Wording:
    """The words of one language: ``t("key", field=value)`` returns the formatted text."""

    def __init__(self, lang: str) -> None:
        if lang not in WORDING:
            raise ReslabError(
                f"unknown report language {lang!r}; choose one of {', '.join(LANGUAGES)}"
            )
        self.lang = lang
        self._words = WORDING[lang]

    def __call__(self, key: str, **fields: object) -> str:
        return self._words[key].format(**fields)

    def knows(self, key: str) -> bool:
        return key in self._words


FIGURE_WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "iterations": "iterations",
        "train_error": "training error (%)",
        "test_error": "test error (%)",
        "curves_train_title": "Training error during training (plain dashed, residual solid)",
        "curves_test_title": "Test error during training (plain dashed, residual solid)",
        "final_train": "final training error (%)",
        "final_test": "final test error (%)",
        "final_train_title": "Final training error vs depth",
        "final_test_title": "Final test error vs depth",
        "depth": "depth (weighted layers)",
        "plain": "plain",
        "residual": "residual",
        "layer_index": "weighted layer (input side = 1; last = fc classifier)",
        "grad_norm": "gradient L2 norm of the layer's weights",
        "grad_init_title": "Gradient norm per layer, at initialisation",
        "grad_trained_title": "Gradient norm per layer, after training",
        "resp_index": "3×3 layer index (original order)",
        "resp_sorted": "3×3 layer index (sorted by magnitude)",
        "resp_std": "std of layer response",
        "resp_index_title": "Response std of 3×3 layers, by layer index",
        "resp_sorted_title": "Response std of 3×3 layers, sorted by magnitude",
        "seeds_n": "n={n}",
        "predicted": "predicted class",
        "true": "true class",
        "images": "images",
        "confusion_title": "Confusion matrix, {model}",
    },
    "zh": {
        "iterations": "迭代次数",
        "train_error": "训练误差（%）",
        "test_error": "测试误差（%）",
        "curves_train_title": "训练过程中的训练误差（普通为虚线，残差为实线）",
        "curves_test_title": "训练过程中的测试误差（普通为虚线，残差为实线）",
        "final_train": "最终训练误差（%）",
        "final_test": "最终测试误差（%）",
        "final_train_title": "最终训练误差与深度",
        "final_test_title": "最终测试误差与深度",
        "depth": "深度（带权重层数）",
        "plain": "普通",
        "residual": "残差",
        "layer_index": "带权重层（输入端 = 1；最后一层 = fc 分类器）",
        "grad_norm": "该层权重梯度的 L2 范数",
        "grad_init_title": "各层梯度范数（初始化时）",
        "grad_trained_title": "各层梯度范数（训练后）",
        "resp_index": "3×3 层序号（原始顺序）",
        "resp_sorted": "3×3 层序号（按大小排序）",
        "resp_std": "层响应的标准差",
        "resp_index_title": "3×3 层响应标准差（按层序号）",
        "resp_sorted_title": "3×3 层响应标准差（按大小排序）",
        "seeds_n": "n={n}",
        "predicted": "预测类别",
        "true": "真实类别",
        "images": "图像数",
        "confusion_title": "混淆矩阵，{model}",
    },
}
"""The words drawn inside figures (titles, axes, legends), per language."""
